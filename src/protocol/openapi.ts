import { z } from "zod";
import { ErrorBody } from "./api.js";

/** How a route authenticates its caller. */
export type RouteAuth = "none" | "session" | "device-certificate" | "relay-certificate" | "operator-token";

/** One REST route as documented: the same zod schemas that validate it at run time. */
export interface RouteDoc {
  method: "get" | "post" | "put" | "delete";
  /** Hono-style path: `/api/v1/devices/:name`. */
  path: string;
  summary: string;
  auth: RouteAuth;
  /** Set on routes only an account admin may call; members are refused with 403 `forbidden`. */
  role?: "admin";
  request?: z.ZodType;
  query?: z.ZodObject;
  response?: z.ZodType;
  /** Success status; 200 unless said. */
  status?: number;
}

function jsonSchema(schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Record<string, unknown>;
  return rest;
}

function operation(route: RouteDoc): Record<string, unknown> {
  const params = [...route.path.matchAll(/:([A-Za-z]+)/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } }));
  const query = route.query
    ? Object.entries(route.query.shape).map(([name, schema]) => ({
        name,
        in: "query",
        required: !(schema as z.ZodType).safeParse(undefined).success,
        schema: jsonSchema(schema as z.ZodType, "input"),
      }))
    : [];
  const errors = { description: "error", content: { "application/json": { schema: jsonSchema(ErrorBody, "output") } } };
  return {
    summary: route.summary,
    ...(route.auth === "session" ? { "x-fernlink-role": route.role ?? "member" } : {}),
    ...(route.auth === "session"
      ? { security: [{ bearer: [] }] }
      : route.auth === "device-certificate"
        ? { security: [{ deviceCertificate: [] }] }
        : route.auth === "relay-certificate"
          ? { security: [{ relayCertificate: [] }] }
          : route.auth === "operator-token"
            ? { security: [{ operatorToken: [] }] }
            : { security: [] }),
    ...(params.length + query.length > 0 ? { parameters: [...params, ...query] } : {}),
    ...(route.request ? { requestBody: { required: true, content: { "application/json": { schema: jsonSchema(route.request, "input") } } } } : {}),
    responses: {
      [String(route.status ?? 200)]: {
        description: "success",
        ...(route.response ? { content: { "application/json": { schema: jsonSchema(route.response, "output") } } } : {}),
      },
      default: errors,
    },
  };
}

/** The OpenAPI 3.1 document of the given routes. */
export function openApiDocument(routes: readonly RouteDoc[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.path.replace(/:([A-Za-z]+)/g, "{$1}");
    paths[path] ??= {};
    paths[path][route.method] = operation(route);
  }
  return {
    openapi: "3.1.0",
    info: { title: "Fernlink API", version, description: "Accounts, devices, access control and audit of a Fernlink server." },
    paths,
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "session token from /api/v1/login, or an API token" },
        deviceCertificate: { type: "mutualTLS", description: "the agent's device certificate" },
        relayCertificate: { type: "mutualTLS", description: "a relay's certificate (fernlink relay run)" },
        operatorToken: { type: "http", scheme: "bearer", description: "an operator token (fernlink operator token add, on the server's host)" },
      },
    },
  };
}
