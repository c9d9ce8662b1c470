// The graphql-http audit suite against a running server: prints every warning and error
// and a count per status, and exits 1 unless every audit passed. Needs graphql-http on
// NODE_PATH. Usage: node tests/graphql_http_audit.cjs http://127.0.0.1:8000/graphql
const { auditServer } = require("graphql-http");

(async () => {
  const results = await auditServer({ url: process.argv[2] });
  const counts = {};
  for (const result of results) {
    counts[result.status] = (counts[result.status] || 0) + 1;
    if (result.status !== "ok") {
      console.log(`${result.status.toUpperCase()} ${result.name}: ${result.reason}`);
    }
  }
  console.log(JSON.stringify(counts));
  process.exit(results.every((r) => r.status === "ok") ? 0 : 1);
})();
