#!/usr/bin/env node
import { main } from "./cli/main.js";
import { runEntry } from "./cli/run-entry.js";

runEntry(main);
