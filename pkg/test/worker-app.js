// A minimal worker over the package's workerd entry point, for worker.test.js.
import { Engine } from "../worker.js";

export default {
  async fetch(request, env) {
    const { envelope, context, flag } = await request.json();
    const engine = new Engine({ keys: JSON.parse(env.PUBLIC_KEYS), environment: "production" });
    try {
      engine.load(envelope);
    } catch (e) {
      return Response.json({ rejected: e.code, message: e.message }, { status: 422 });
    }
    const details = engine.evaluate(flag, context, false);
    return Response.json({ version: engine.version, details, metrics: engine.takeMetrics() });
  },
};
