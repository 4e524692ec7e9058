import { z } from "zod";
import {
  AccountAdmins,
  ActivationKeyResponse,
  DeviceAddRequest,
  DeviceInfo,
  DeviceReach,
  LoginRequest,
  LoginResponse,
  RegisterRequest,
  RegisterResponse,
  RelayAssignment,
  ROUTES,
  WhoAmI,
} from "./api.js";
import { ACCESS_ROUTE_DOCS } from "./api-access.js";
import { AUDIT_ROUTE_DOCS } from "./api-audit.js";
import { LIVE_ROUTE_DOCS } from "./api-live.js";
import { NOTIFY_ROUTE_DOCS } from "./api-notify.js";
import { ON_DEMAND_ROUTE_DOCS } from "./api-on-demand.js";
import { OPERATOR_ROUTE_DOCS } from "./api-operator.js";
import { PUBLISH_ROUTE_DOCS } from "./api-publish.js";
import { RECORDING_ROUTE_DOCS } from "./api-recordings.js";
import { SESSION_ROUTE_DOCS } from "./api-session.js";
import { USER_ROUTE_DOCS } from "./api-users.js";
import { WEB_TARGET_ROUTE_DOCS } from "./api-web-targets.js";
import { SwitchReport, SwitchReportAnswer } from "./key-switch.js";
import type { RouteDoc } from "./openapi.js";
import { AgentCheckRequest, AgentCheckResponse, RELAY_ROUTES, RelayRegisterRequest, RelayRegisterResponse } from "./relay-link.js";

const Ok = z.strictObject({ ok: z.literal(true) });

/** Every REST route of the server, with the schemas that validate it; the OpenAPI document is built from this. */
export const ROUTE_DOCS: readonly RouteDoc[] = [
  { method: "get", path: ROUTES.health, summary: "Liveness check", auth: "none", response: z.strictObject({ ok: z.boolean() }) },
  { method: "get", path: ROUTES.openapi, summary: "This document", auth: "none" },
  {
    method: "post",
    path: ROUTES.login,
    summary: "Exchange account, user, password (and one-time code) for a session token",
    auth: "none",
    request: LoginRequest,
    response: LoginResponse,
  },
  ...SESSION_ROUTE_DOCS,
  { method: "post", path: ROUTES.logout, summary: "End the caller's session", auth: "session", response: Ok },
  { method: "get", path: ROUTES.whoami, summary: "Who the token belongs to", auth: "session", response: WhoAmI },
  {
    method: "get",
    path: ROUTES.accountAdmins,
    summary: "The admins of the caller's account, whom a user asks for access",
    auth: "session",
    response: AccountAdmins,
  },
  { method: "get", path: ROUTES.devices, summary: "Devices the caller may see, with their online state", auth: "session", response: z.array(DeviceInfo) },
  {
    method: "post",
    path: ROUTES.devices,
    summary: "Add a device and get its one-time activation key (admin)",
    auth: "session",
    role: "admin",
    request: DeviceAddRequest,
    response: ActivationKeyResponse,
    status: 201,
  },
  { method: "get", path: ROUTES.device, summary: "One device", auth: "session", response: DeviceInfo },
  {
    method: "delete",
    path: ROUTES.device,
    summary: "Remove a device; its certificate is revoked and its tunnel closed (admin)",
    auth: "session",
    role: "admin",
    response: Ok,
  },
  {
    method: "get",
    path: ROUTES.deviceAccess,
    summary: "What the caller may reach on one device: its level and the targets its streams may open",
    auth: "session",
    response: DeviceReach,
  },
  {
    method: "post",
    path: ROUTES.deviceKey,
    summary: "Issue a new activation key to register the device again (admin)",
    auth: "session",
    role: "admin",
    response: ActivationKeyResponse,
  },
  ...WEB_TARGET_ROUTE_DOCS,
  ...AUDIT_ROUTE_DOCS,
  ...USER_ROUTE_DOCS,
  ...ACCESS_ROUTE_DOCS,
  ...LIVE_ROUTE_DOCS,
  ...PUBLISH_ROUTE_DOCS,
  ...RECORDING_ROUTE_DOCS,
  ...NOTIFY_ROUTE_DOCS,
  ...ON_DEMAND_ROUTE_DOCS,
  ...OPERATOR_ROUTE_DOCS,
  {
    method: "post",
    path: ROUTES.register,
    summary: "Register an agent: one-time activation key plus CSR, answered with the device certificate",
    auth: "none",
    request: RegisterRequest,
    response: RegisterResponse,
  },
  {
    method: "get",
    path: ROUTES.relay,
    summary: "The relays the agent may use for its next connection, best first (query: region)",
    auth: "device-certificate",
    response: RelayAssignment,
  },
  {
    method: "post",
    path: ROUTES.agentSwitch,
    summary: "The position of the agent's key switch (off, online, remote), sent when it turns; recorded on the device and audited",
    auth: "device-certificate",
    request: SwitchReport,
    response: SwitchReportAnswer,
  },
  {
    method: "post",
    path: RELAY_ROUTES.register,
    summary: "Register a relay: its one-time relay key plus CSR, answered with the relay certificate",
    auth: "none",
    request: RelayRegisterRequest,
    response: RelayRegisterResponse,
  },
  {
    method: "post",
    path: RELAY_ROUTES.agent,
    summary: "A relay asks whether an agent's certificate is current",
    auth: "relay-certificate",
    request: AgentCheckRequest,
    response: AgentCheckResponse,
  },
];
