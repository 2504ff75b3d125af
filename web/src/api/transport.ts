// The raw GraphQL-over-HTTP call, used where urql is not: signing in and refreshing tokens.
import { stringifyDocument } from "@urql/core";
import type { TypedDocumentNode } from "@urql/core";

export interface GraphQLErrorShape {
  message: string;
  path?: readonly (string | number)[];
  extensions?: { code?: string; field?: string | null; retryAfter?: number };
}

/** A GraphQL error answer (or a transport failure), with the first error's code and field. */
export class ApiError extends Error {
  readonly code: string;
  readonly field: string | null;
  readonly errors: GraphQLErrorShape[];

  constructor(errors: GraphQLErrorShape[]) {
    super(errors[0]?.message ?? "request failed");
    this.name = "ApiError";
    this.errors = errors;
    this.code = errors[0]?.extensions?.code ?? "error";
    this.field = errors[0]?.extensions?.field ?? null;
  }
}

export const NETWORK_ERROR_CODE = "network_error";

export async function postGraphQL<R, V extends Record<string, unknown>>(
  document: TypedDocumentNode<R, V>,
  variables: V,
  accessToken?: string | null,
): Promise<R> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: "application/graphql-response+json, application/json",
  };
  if (accessToken) headers.authorization = `Bearer ${accessToken}`;
  let response: Response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers,
      body: JSON.stringify({ query: stringifyDocument(document), variables }),
    });
  } catch {
    throw new ApiError([
      { message: "cannot reach the dts server; check your connection", extensions: { code: NETWORK_ERROR_CODE } },
    ]);
  }
  type Body = { data?: R | null; errors?: GraphQLErrorShape[] } | null;
  let body: Body = null;
  try {
    body = (await response.json()) as Body;
  } catch {
    body = null;
  }
  if (body?.errors?.length) throw new ApiError(body.errors);
  if (!body?.data) {
    throw new ApiError([
      {
        message: `the server answered ${response.status} ${response.statusText}`.trim(),
        extensions: { code: NETWORK_ERROR_CODE },
      },
    ]);
  }
  return body.data;
}
