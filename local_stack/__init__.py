"""The embedded local stack: the unchanged Pulumi program on emulators (moto, fakesnow).

Nothing in infra/ or __main__.py imports this package.
"""
