import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  answerHeadLength,
  basicAuthorization,
  chooseAuthorization,
  connectRequest,
  digestAuthorization,
  parseChallenges,
  parseProxyAnswer,
  proxyChallenges,
} from "./proxy-connect.js";

describe("proxy CONNECT", () => {
  it("asks for the authority, with the authorization when given", () => {
    assert.equal(
      connectRequest("relay.example.com:443"),
      "CONNECT relay.example.com:443 HTTP/1.1\r\nHost: relay.example.com:443\r\nUser-Agent: fernlink\r\n\r\n",
    );
    assert.match(connectRequest("[::1]:8443", "Basic eDp5"), /^CONNECT \[::1\]:8443 HTTP\/1\.1\r\n.*Proxy-Authorization: Basic eDp5\r\n\r\n$/s);
  });

  it("finds the end of the answer head, and keeps what follows for the tunnel", () => {
    assert.equal(answerHeadLength(Buffer.from("HTTP/1.1 200 OK\r\n")), -1);
    const head = "HTTP/1.1 200 Connection established\r\n\r\n";
    assert.equal(answerHeadLength(Buffer.from(`${head}\x16\x03`)), head.length);
  });

  it("parses the status and every Proxy-Authenticate header", () => {
    const answer = parseProxyAnswer(
      'HTTP/1.1 407 Proxy Authentication Required\r\nServer: squid\r\nProxy-Authenticate: Digest realm="plant", nonce="abc", ' +
        'qop="auth"\r\nProxy-Authenticate: Basic realm="plant"',
    );
    assert.ok(answer);
    assert.equal(answer.status, 407);
    assert.deepEqual(
      proxyChallenges(answer).map((c) => c.scheme),
      ["digest", "basic"],
    );
    assert.equal(parseProxyAnswer("SSH-2.0-OpenSSH"), undefined);
  });

  it("parses several challenges in one header, quoted strings and token68", () => {
    const challenges = parseChallenges('Digest realm="a, \\"b\\"", nonce=xyz, algorithm=MD5, Basic realm="c", Negotiate abc123==');
    assert.deepEqual(challenges, [
      { scheme: "digest", params: { realm: 'a, "b"', nonce: "xyz", algorithm: "MD5" } },
      { scheme: "basic", params: { realm: "c" } },
      { scheme: "negotiate", params: { token68: "abc123==" } },
    ]);
    assert.deepEqual(parseChallenges("NTLM"), [{ scheme: "ntlm", params: {} }]);
  });

  it("computes Basic", () => {
    assert.equal(basicAuthorization({ user: "Aladdin", password: "open sesame" }), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  });

  it("computes Digest as RFC 2617's worked example", () => {
    const value = digestAuthorization(
      {
        scheme: "digest",
        params: { realm: "testrealm@host.com", nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093", qop: "auth,auth-int", opaque: "5ccc069c403ebaf9f0171e9517f40e41" },
      },
      { user: "Mufasa", password: "Circle Of Life" },
      { method: "GET", uri: "/dir/index.html" },
      "0a4f113b",
    );
    assert.ok(value);
    assert.match(value, /response="6629fae49393a05397450978507c4ef1"/);
    assert.match(value, /^Digest username="Mufasa", realm="testrealm@host\.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="\/dir\/index\.html"/);
    assert.match(value, /opaque="5ccc069c403ebaf9f0171e9517f40e41", qop=auth, nc=00000001, cnonce="0a4f113b"$/);
  });

  it("computes Digest without qop (RFC 2069) and refuses algorithms it does not know", () => {
    const creds = { user: "u", password: "p" };
    const plain = digestAuthorization({ scheme: "digest", params: { realm: "r", nonce: "n" } }, creds, { method: "CONNECT", uri: "h:443" }, "c");
    assert.ok(plain && !plain.includes("qop="));
    assert.equal(
      digestAuthorization({ scheme: "digest", params: { realm: "r", nonce: "n", algorithm: "SHA-512-256" } }, creds, { method: "CONNECT", uri: "h:443" }),
      undefined,
    );
    assert.equal(
      digestAuthorization({ scheme: "digest", params: { realm: "r", nonce: "n", qop: "auth-int" } }, creds, { method: "CONNECT", uri: "h:443" }),
      undefined,
    );
  });

  it("prefers Digest to Basic, and names schemes it cannot answer", () => {
    const creds = { user: "u", password: "p" };
    const both = chooseAuthorization(parseChallenges('Basic realm="r", Digest realm="r", nonce="n"'), creds, "h:443");
    assert.ok("authorization" in both && both.authorization.startsWith("Digest "));
    const basic = chooseAuthorization(parseChallenges('Basic realm="r"'), creds, "h:443");
    assert.deepEqual(basic, { authorization: "Basic dTpw" });
    assert.deepEqual(chooseAuthorization(parseChallenges("NTLM, Negotiate"), creds, "h:443"), { unsupported: "ntlm, negotiate" });
  });
});
