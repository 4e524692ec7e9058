#!/usr/bin/env node
// The entry of the one-file agent for gateways without a build tree, bundled by scripts/build-agent.mjs.
import { agentMain } from "./cli/agent-main.js";
import { runEntry } from "./cli/run-entry.js";

runEntry(agentMain);
