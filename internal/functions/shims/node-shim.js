// Rheos's Node.js runtime client: the Lambda Runtime API loop that runs a
// user's unchanged handler (CommonJS or ES module, async or callback).
"use strict";
const path = require("path");
const { pathToFileURL } = require("url");
const fs = require("fs");
const api = "http://" + process.env.AWS_LAMBDA_RUNTIME_API + "/2018-06-01/runtime";
const root = process.env.LAMBDA_TASK_ROOT;
const [modPath, fnName] = (() => {
  const h = process.env._HANDLER || "index.handler";
  const i = h.lastIndexOf(".");
  return [h.slice(0, i), h.slice(i + 1)];
})();

function errorObject(err) {
  if (err instanceof Error) {
    // The stack without this client's own frames, as AWS's runtime reports it.
    const frames = (err.stack || "").split("\n").slice(1).map((s) => s.trim());
    return { errorType: err.name || "Error", errorMessage: err.message, stackTrace: frames.filter((f) => !f.includes(__filename) && !f.includes("node:internal")) };
  }
  return { errorType: "string", errorMessage: String(err), stackTrace: [] };
}

async function post(url, body, headers) {
  await fetch(url, { method: "POST", body: JSON.stringify(body === undefined ? null : body), headers });
}

async function load() {
  const base = path.join(root, modPath);
  for (const ext of [".js", ".mjs", ".cjs"]) {
    if (!fs.existsSync(base + ext)) continue;
    const mod = ext === ".js" && !isModule(base + ext) ? require(base + ext) : await import(pathToFileURL(base + ext).href);
    const fn = mod[fnName] || (mod.default && mod.default[fnName]);
    if (typeof fn !== "function") {
      const e = new Error(modPath + "." + fnName + " is undefined or not exported");
      e.name = "Runtime.HandlerNotFound";
      throw e;
    }
    return fn;
  }
  const e = new Error("Cannot find module '" + modPath + "'");
  e.name = "Runtime.ImportModuleError";
  throw e;
}

function isModule(file) {
  let dir = path.dirname(file);
  while (dir.startsWith(root)) {
    const pj = path.join(dir, "package.json");
    if (fs.existsSync(pj)) {
      try { return JSON.parse(fs.readFileSync(pj, "utf8")).type === "module"; } catch { return false; }
    }
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return false;
}

(async () => {
  let handler;
  try {
    handler = await load();
  } catch (err) {
    await post(api + "/init/error", errorObject(err), { "Lambda-Runtime-Function-Error-Type": err.name || "Runtime.Unknown" });
    process.exit(1);
  }
  for (;;) {
    const res = await fetch(api + "/invocation/next");
    const id = res.headers.get("lambda-runtime-aws-request-id");
    const deadline = Number(res.headers.get("lambda-runtime-deadline-ms"));
    const event = await res.json();
    const context = {
      awsRequestId: id,
      invokedFunctionArn: res.headers.get("lambda-runtime-invoked-function-arn"),
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    let result, failure;
    try {
      result = await new Promise((resolve, reject) => {
        const r = handler(event, context, (err, val) => (err ? reject(err) : resolve(val)));
        if (r && typeof r.then === "function") r.then(resolve, reject);
      });
    } catch (err) {
      failure = err;
    }
    // The end of this invocation's output (the server strips these lines).
    const marker = "\0rheos-end " + id + "\n";
    await new Promise((r) => process.stdout.write(marker, r));
    await new Promise((r) => process.stderr.write(marker, r));
    if (failure === undefined) {
      await post(api + "/invocation/" + id + "/response", result);
    } else {
      await post(api + "/invocation/" + id + "/error", errorObject(failure), { "Lambda-Runtime-Function-Error-Type": "Unhandled" });
    }
  }
})();
