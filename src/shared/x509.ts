/**
 * The one entry point to `@peculiar/x509` in Fernlink: import `x509` from here, never from the
 * package directly. It loads `reflect-metadata`, which the library's `tsyringe` dependency
 * requires (it throws at import time otherwise) and points the library at Node's WebCrypto.
 * (`import type` from "@peculiar/x509" is fine anywhere: it emits no code.)
 */
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto);

export { x509 };
