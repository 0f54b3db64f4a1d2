from cost.cli import app

app()
