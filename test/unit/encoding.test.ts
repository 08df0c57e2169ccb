import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  base64ToBytes,
  base64UrlToBytes,
  bytesToBase64,
  bytesToBase64Url,
  bytesToHex,
  constantTimeEqual,
  hexToBytes,
  sha256,
  sha256Hex,
} from "../../src/encoding.ts";

const ascii = (s: string) => new TextEncoder().encode(s);

describe("known vectors", () => {
  it("hex", () => {
    expect(bytesToHex(new Uint8Array([0, 1, 0x0f, 0x10, 0xab, 0xff]))).toBe("00010f10abff");
    expect(bytesToHex(new Uint8Array())).toBe("");
    expect(hexToBytes("00010F10abFF")).toEqual(new Uint8Array([0, 1, 0x0f, 0x10, 0xab, 0xff]));
  });

  it("base64 and base64url (RFC 4648 §10 and both alphabets' last two characters)", () => {
    const vectors: [string, string][] = [
      ["", ""],
      ["f", "Zg=="],
      ["fo", "Zm8="],
      ["foo", "Zm9v"],
      ["foob", "Zm9vYg=="],
      ["fooba", "Zm9vYmE="],
      ["foobar", "Zm9vYmFy"],
    ];
    for (const [plain, encoded] of vectors) {
      expect(bytesToBase64(ascii(plain))).toBe(encoded);
      expect(bytesToBase64Url(ascii(plain))).toBe(encoded.replace(/=+$/, ""));
      expect(base64ToBytes(encoded)).toEqual(ascii(plain));
    }
    const high = new Uint8Array([0xfb, 0xff, 0xbf]);
    expect(bytesToBase64(high)).toBe("+/+/");
    expect(bytesToBase64Url(high)).toBe("-_-_");
    expect(base64UrlToBytes("-_-_")).toEqual(high);
    expect(base64UrlToBytes("+/+/")).toEqual(high);
  });

  it("SHA-256 (FIPS 180-2 vectors, UTF-8 input)", async () => {
    expect(await sha256Hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    // "é" is two UTF-8 bytes: hashing the UTF-16 code unit instead would give another digest.
    expect(await sha256Hex("é")).toBe("4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c");
    expect((await sha256("abc")).byteLength).toBe(32);
  });
});

describe("refusals", () => {
  it("hexToBytes refuses odd lengths and non-hex characters", () => {
    for (const bad of ["0", "abc", "zz", "0x12", "12 34", "１２"]) expect(hexToBytes(bad)).toBeUndefined();
  });

  it("base64 decoders throw on text that is not base64", () => {
    for (const bad of ["a", "ab!c", "Zm9v\u00e9", "Z==="]) {
      expect(() => base64ToBytes(bad)).toThrow();
      expect(() => base64UrlToBytes(bad)).toThrow();
    }
  });
});

describe("round trips", () => {
  const bytes = fc.uint8Array({ maxLength: 300 });

  it("hex", () => {
    fc.assert(
      fc.property(bytes, (b) => {
        const hex = bytesToHex(b);
        expect(hex).toMatch(/^(?:[0-9a-f]{2})*$/);
        expect(hexToBytes(hex)).toEqual(b);
      }),
    );
  });

  it("base64 and base64url", () => {
    fc.assert(
      fc.property(bytes, (b) => {
        expect(base64ToBytes(bytesToBase64(b))).toEqual(b);
        const url = bytesToBase64Url(b);
        expect(url).toMatch(/^[A-Za-z0-9_-]*$/);
        expect(base64UrlToBytes(url)).toEqual(b);
      }),
    );
  });

  it("base64 of more than one slice (64 KiB) round-trips", () => {
    const big = new Uint8Array(70_000).map((_, i) => (i * 31) & 0xff);
    expect(base64ToBytes(bytesToBase64(big))).toEqual(big);
  });
});

describe("constantTimeEqual", () => {
  it("is equality of bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), (a, b) => {
        expect(constantTimeEqual(a, b)).toBe(bytesToHex(a) === bytesToHex(b));
        expect(constantTimeEqual(a, a.slice())).toBe(true);
      }),
    );
  });

  it("tells apart inputs that differ only in the last byte, or only in length", () => {
    expect(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4]))).toBe(false);
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 0]))).toBe(false);
  });
});
