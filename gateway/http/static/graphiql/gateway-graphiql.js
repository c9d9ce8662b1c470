// The gateway's GraphiQL page: GraphiQL (served by the gateway itself, so it works offline)
// against this gateway, over HTTP for queries and mutations and graphql-ws for
// subscriptions. The browser's session cookie (the persona chosen at /auth/dev, or a
// login) goes with every request; a bearer token may be set in the Headers tab.
(function () {
  "use strict";

  const WELCOME = `# GraphiQL on the Collaboration Access Gateway.
#
# Run: Ctrl-Enter or the play button. Complete: Ctrl-Space.
# Docs: the book icon, top left.
#
# You are whoever this browser is logged in as: a guest
# until you log in (the demo's personas: /auth/dev), or a
# token: {"Authorization": "Bearer TOKEN"} under Headers.

query Viewer {
  viewer {
    id
    displayName
    roles
    isGuest
  }
}
`;

  // ?q=...&variables=... share a query (not ?query=: a GET with "query" runs it).
  const parameters = {};
  for (const entry of window.location.search.slice(1).split("&")) {
    const eq = entry.indexOf("=");
    if (eq >= 0) {
      parameters[decodeURIComponent(entry.slice(0, eq))] = decodeURIComponent(
        entry.slice(eq + 1),
      );
    }
  }

  function updateURL(data) {
    Object.assign(parameters, data);
    const search = Object.keys(parameters)
      .filter((key) => Boolean(parameters[key]))
      .map((key) => encodeURIComponent(key) + "=" + encodeURIComponent(parameters[key]))
      .join("&");
    history.replaceState(null, "", "?" + search);
  }

  const url = new URL("/graphql", window.location.href);
  const subscriptionUrl = new URL(url);
  subscriptionUrl.protocol = url.protocol === "https:" ? "wss:" : "ws:";

  const fetcher = GraphiQL.createFetcher({
    url: url.toString(),
    subscriptionUrl: subscriptionUrl.toString(),
  });

  function Page() {
    const [query, setQuery] = React.useState(parameters.q || WELCOME);
    const [variables, setVariables] = React.useState(parameters.variables);
    return React.createElement(GraphiQL, {
      fetcher: fetcher,
      query: query,
      variables: variables,
      onEditQuery: (value) => {
        setQuery(value);
        updateURL({ q: value });
      },
      onEditVariables: (value) => {
        setVariables(value);
        updateURL({ variables: value });
      },
      defaultEditorToolsVisibility: true,
      inputValueDeprecation: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
    });
  }

  ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(Page));
})();
