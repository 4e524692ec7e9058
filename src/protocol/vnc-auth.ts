import { createCipheriv } from "node:crypto";

/** Length of the VNC Authentication challenge and of its response (RFC 6143 §7.2.2). */
export const VNC_CHALLENGE_BYTES = 16;

/** How many bytes of a password VNC Authentication uses; the rest is ignored. */
export const VNC_PASSWORD_BYTES = 8;

/** Key TigerVNC/RealVNC use to obfuscate a stored password file (`vncpasswd`), in VNC key bit order. */
const PASSWORD_FILE_KEY = Buffer.from([23, 82, 107, 6, 35, 78, 88, 7]);

/**
 * Single-DES ECB encryption of whole 8-byte blocks. OpenSSL 3 (Node 20) refuses `des-ecb`,
 * but triple DES with the same key three times (E_k D_k E_k) is single DES.
 */
function desEcb(key: Buffer, data: Buffer): Buffer {
  const cipher = createCipheriv("des-ede3-ecb", Buffer.concat([key, key, key]), null);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

/** The password as an 8-byte key: UTF-8 bytes, cut to 8, zero padded. */
function passwordBlock(password: string): Buffer {
  const block = Buffer.alloc(VNC_PASSWORD_BYTES);
  Buffer.from(password, "utf8").copy(block, 0, 0, VNC_PASSWORD_BYTES);
  return block;
}

/** `byte` with its bit order reversed (VNC's DES key quirk: bit 0 becomes bit 7). */
function reverseBits(byte: number): number {
  let out = 0;
  for (let i = 0; i < 8; i++) out |= ((byte >> i) & 1) << (7 - i);
  return out;
}

/**
 * DES as VNC's d3des uses it: the bits of each key byte in reverse order (bit 0 is DES's
 * first key bit), so every key goes through {@link reverseBits} before standard DES.
 */
function vncDes(key: Buffer, data: Buffer): Buffer {
  return desEcb(Buffer.from(key.map(reverseBits)), data);
}

/**
 * The response to a VNC Authentication challenge: the 16-byte challenge DES-encrypted with
 * the password's first 8 bytes (zero padded), each key byte bit-reversed.
 */
export function vncAuthResponse(password: string, challenge: Uint8Array): Buffer {
  if (challenge.length !== VNC_CHALLENGE_BYTES) {
    throw new RangeError(`a VNC challenge has ${VNC_CHALLENGE_BYTES} bytes, got ${challenge.length}`);
  }
  return vncDes(passwordBlock(password), Buffer.from(challenge));
}

/** The 8 bytes of a TigerVNC password file (`vncpasswd -f`) for `password`. */
export function vncPasswordFile(password: string): Buffer {
  return vncDes(PASSWORD_FILE_KEY, passwordBlock(password));
}
