from local_stack.tasks.runner import app

app()
