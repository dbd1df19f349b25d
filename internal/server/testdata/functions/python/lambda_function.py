# A plain Lambda handler (Python).
import os
import time

invocations = 0  # globals survive between invocations of a warm process


def lambda_handler(event, context):
    global invocations
    invocations += 1
    if event.get("fail"):
        raise ValueError("asked to fail")
    if event.get("sleepMs"):
        time.sleep(event["sleepMs"] / 1000)
    print("hello from python", context.aws_request_id)
    return {
        "echo": event,
        "invocations": invocations,
        "requestId": context.aws_request_id,
        "function": context.function_name,
        "remaining": context.get_remaining_time_in_millis() > 0,
        "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
        "custom": os.environ.get("CUSTOM"),
    }
