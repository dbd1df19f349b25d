# Rheos's Python runtime client: the Lambda Runtime API loop that runs a
# user's unchanged handler (module.function, dotted paths allowed).
import importlib, json, os, sys, time, traceback, urllib.request

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
ROOT = os.environ["LAMBDA_TASK_ROOT"]
sys.path.insert(0, ROOT)


def post(url, body, error_type=None):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    if error_type:
        req.add_header("Lambda-Runtime-Function-Error-Type", error_type)
    urllib.request.urlopen(req).read()


def error_object(exc, error_type=None, skip=0):
    # skip drops this client's own frames, as AWS's runtime does.
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "stackTrace": traceback.format_list(traceback.extract_tb(exc.__traceback__)[skip:]),
    }


class Context:
    def __init__(self, headers):
        self.aws_request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn")
        self._deadline = int(headers.get("Lambda-Runtime-Deadline-Ms", "0"))
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline - int(time.time() * 1000))


def load():
    module, _, fn = os.environ.get("_HANDLER", "lambda_function.lambda_handler").rpartition(".")
    try:
        mod = importlib.import_module(module.replace("/", "."))
    except Exception as exc:
        post(API + "/init/error", error_object(exc, "Runtime.ImportModuleError"), "Runtime.ImportModuleError")
        sys.exit(1)
    handler = getattr(mod, fn, None)
    if handler is None:
        exc = Exception("Handler '%s' missing on module '%s'" % (fn, module))
        post(API + "/init/error", error_object(exc, "Runtime.HandlerNotFound"), "Runtime.HandlerNotFound")
        sys.exit(1)
    return handler


def main():
    handler = load()
    while True:
        with urllib.request.urlopen(API + "/invocation/next") as res:
            headers = res.headers
            event = json.loads(res.read() or b"null")
        ctx = Context(headers)
        try:
            result = handler(event, ctx)
            body, error_type = result, None
        except Exception as exc:
            body, error_type = error_object(exc, skip=1), "Unhandled"
        # The end of this invocation's output (the server strips these
        # lines), flushed before the answer.
        marker = "\0rheos-end " + ctx.aws_request_id + "\n"
        sys.stdout.write(marker)
        sys.stdout.flush()
        sys.stderr.write(marker)
        sys.stderr.flush()
        if error_type:
            post(API + "/invocation/" + ctx.aws_request_id + "/error", body, error_type)
        else:
            post(API + "/invocation/" + ctx.aws_request_id + "/response", body)


main()
