// GraphiQL for the kfp-lineage API, served by the API itself with no network.
//
// Queries go to the GraphQL endpoint that served this page (same origin, same path),
// with the headers of GraphiQL's header editor: put {"Authorization": "Bearer <token>"}
// there when the server asks for a token. Headers are not persisted by default, so a
// token does not outlive the tab.
import React from "react";
import { createRoot } from "react-dom/client";
import { GraphiQL } from "graphiql";
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import "graphiql/graphiql.css";

const endpoint = window.location.origin + window.location.pathname;
const fetcher = createGraphiQLFetcher({ url: endpoint });

const DEFAULT_QUERY = `# kfp-lineage: ask for a node by id, e.g. a run, a task or an artifact.
# When the server asks for a token, add {"Authorization": "Bearer <token>"}
# in the Headers tab below. Run with Ctrl-Enter.
{
  whoami {
    subject
    namespaces
    auditor
  }
}
`;

createRoot(document.getElementById("graphiql")).render(
  React.createElement(GraphiQL, {
    fetcher,
    defaultQuery: DEFAULT_QUERY,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false,
  }),
);
