#!/usr/bin/env node
import { main } from "./cli/main.js";

// Long-running commands resolve only after their own shutdown; exit then, so no stray
// handle (a keep-alive timer, a pooled connection) keeps the process alive.
void main(process.argv).then((code) => process.exit(code));
