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
  it('round-trips without a key (gzip only)', async () => {
    const codec = new PayloadCodec(undefined);
    const blob = await codec.encode(value, 'k');
    expect(codec.encrypts).toBe(false);
    expect(await codec.decode(blob, 'k')).toEqual(value);
  });

  it('encrypts with PAYLOAD_KEY: nothing readable at rest, and it decrypts back', async () => {
    const codec = new PayloadCodec(key());
    const blob = await codec.encode(value, 'p:run:r1:payload:0');
    expect(codec.encrypts).toBe(true);
    expect(blob.includes(Buffer.from('ann@example.com'))).toBe(false);
    expect(await codec.decode(blob, 'p:run:r1:payload:0')).toEqual(value);
    // Two encodings of the same value differ (fresh IV).
    expect((await codec.encode(value, 'x')).equals(await codec.encode(value, 'x'))).toBe(false);
  });

  it('refuses a blob moved under another key, a wrong key, a missing key and tampering', async () => {
    const k = key();
    const codec = new PayloadCodec(k);
    const blob = await codec.encode(value, 'p:run:r1:payload:0');
    await expect(codec.decode(blob, 'p:run:r1:payload:1')).rejects.toThrow(/does not decrypt/);
    await expect(new PayloadCodec(key()).decode(blob, 'p:run:r1:payload:0')).rejects.toThrow(
      /does not decrypt/,
    );
    await expect(new PayloadCodec(undefined).decode(blob, 'p:run:r1:payload:0')).rejects.toThrow(
      /PAYLOAD_KEY is not set/,
    );
    const tampered = Buffer.from(blob);
    tampered[tampered.length - 1]! ^= 1;
    await expect(codec.decode(tampered, 'p:run:r1:payload:0')).rejects.toThrow(/does not decrypt/);
  });
});
