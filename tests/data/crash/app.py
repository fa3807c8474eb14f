def lambda_handler(event, context):
    raise RuntimeError("boom")
