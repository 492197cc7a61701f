// Reads [{expr, object}] as JSON on stdin and prints, for each, true / false / "error: ...".
// Options mirror how kustomize-controller evaluates healthCheckExprs: the object's top-level
// fields are the variables, optional types (`.?x.orValue(d)`) are on.
import { Environment } from '@marcbachmann/cel-js';

const env = new Environment({
  unlistedVariablesAreDyn: true,
  enableOptionalTypes: true,
  homogeneousAggregateLiterals: false,
});
let input = '';
for await (const chunk of process.stdin) input += chunk;
const results = JSON.parse(input).map(({ expr, object }) => {
  try {
    return env.evaluate(expr, object);
  } catch (e) {
    return `error: ${String(e.message).split('\n')[0]}`;
  }
});
process.stdout.write(JSON.stringify(results));
