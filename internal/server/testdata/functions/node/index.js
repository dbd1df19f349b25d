// A plain Lambda handler (Node.js, CommonJS, async).
let invocations = 0; // globals survive between invocations of a warm process

exports.handler = async (event, context) => {
  invocations++;
  if (event.fail) throw new TypeError("asked to fail");
  if (event.sleepMs) await new Promise((r) => setTimeout(r, event.sleepMs));
  console.log("hello from node", context.awsRequestId);
  return {
    echo: event,
    invocations,
    requestId: context.awsRequestId,
    function: context.functionName,
    remaining: context.getRemainingTimeInMillis() > 0,
    endpoint: process.env.AWS_ENDPOINT_URL || null,
    custom: process.env.CUSTOM || null,
  };
};
