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
// Kubernetes decodes a JSON integer into an int64, and Flux's cel-go keeps it an `int`; a
// JavaScript number would be a `double` here (`string(3.0)`, `3.0 == 3` differ from cel-go).
// So every integral number becomes a BigInt, which cel-js evaluates as an `int`.
const asInt = (_key, value) => (typeof value === 'number' && Number.isInteger(value) ? BigInt(value) : value);
const results = JSON.parse(input, asInt).map(({ expr, object }) => {
  try {
    const result = env.evaluate(expr, object);
    return typeof result === 'bigint' ? Number(result) : result;
  } catch (e) {
    return `error: ${String(e.message).split('\n')[0]}`;
  }
});
process.stdout.write(JSON.stringify(results));
