import assert from "node:assert/strict";
import { describe, it } from "node:test";
import tls from "node:tls";
import { secureContextFor } from "./secure-contexts.js";

describe("the TLS contexts a process dials with", () => {
  const [first, second] = tls.rootCertificates;

  it("are made once for the same PEMs, given as a string or a list", () => {
    assert.equal(secureContextFor({ ca: first }), secureContextFor({ ca: first }));
    assert.equal(secureContextFor({ ca: [first!, second!] }), secureContextFor({ ca: [first!, second!] }));
    assert.equal(secureContextFor({}), secureContextFor({ ca: undefined }));
  });

  it("differ when the trusted CAs differ", () => {
    assert.notEqual(secureContextFor({ ca: first }), secureContextFor({ ca: second }));
    assert.notEqual(secureContextFor({ ca: first }), secureContextFor({}));
  });
});
