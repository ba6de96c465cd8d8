import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Secret } from '../../src/config.js';
import { PayloadCodec } from '../../src/jobs/payload.js';

const key = (): Secret => new Secret(randomBytes(32).toString('hex'));
const value = {
  payload: '[{"email":"ann@example.com","password_hash":"$2b$10$abcdefghijklmnopqrstuv"}]',
  users: [1, 2],
};

describe('PayloadCodec', () => {
  it('round-trips without a key (gzip only)', () => {
    const codec = new PayloadCodec(undefined);
    const blob = codec.encode(value, 'k');
    expect(codec.encrypts).toBe(false);
    expect(codec.decode(blob, 'k')).toEqual(value);
  });

  it('encrypts with PAYLOAD_KEY: nothing readable at rest, and it decrypts back', () => {
    const codec = new PayloadCodec(key());
    const blob = codec.encode(value, 'p:run:r1:payload:0');
    expect(codec.encrypts).toBe(true);
    expect(blob.includes(Buffer.from('ann@example.com'))).toBe(false);
    expect(codec.decode(blob, 'p:run:r1:payload:0')).toEqual(value);
    // Two encodings of the same value differ (fresh IV).
    expect(codec.encode(value, 'x').equals(codec.encode(value, 'x'))).toBe(false);
  });

  it('refuses a blob moved under another key, a wrong key, a missing key and tampering', () => {
    const k = key();
    const codec = new PayloadCodec(k);
    const blob = codec.encode(value, 'p:run:r1:payload:0');
    expect(() => codec.decode(blob, 'p:run:r1:payload:1')).toThrow(/does not decrypt/);
    expect(() => new PayloadCodec(key()).decode(blob, 'p:run:r1:payload:0')).toThrow(/does not decrypt/);
    expect(() => new PayloadCodec(undefined).decode(blob, 'p:run:r1:payload:0')).toThrow(
      /PAYLOAD_KEY is not set/,
    );
    const tampered = Buffer.from(blob);
    tampered[tampered.length - 1]! ^= 1;
    expect(() => codec.decode(tampered, 'p:run:r1:payload:0')).toThrow(/does not decrypt/);
  });
});
