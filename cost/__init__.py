"""What the POC would cost on Snowflake: rules (with their sources), usage profiles, the model and `make cost`.

Never imported by the cloud program (infra/, __main__.py).
"""
