import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Secret } from '../../src/config.js';
import { decodeStagedBatch, encodeStagedBatch, PayloadCodec } from '../../src/jobs/payload.js';
import type { StagedBatch } from '../../src/jobs/types.js';

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

describe('staged batches', () => {
  const staged: StagedBatch = {
    payload: Buffer.from('[{"email":"zoë@example.com","name":"\\"q\\""}]', 'utf8'),
    users: [
      { line: 7, email: 'zoë@example.com', hasPassword: false, original: { email: 'zoë@example.com' } },
    ],
  };

  it('round-trips the import file byte for byte beside its users, sealed or not', async () => {
    for (const codec of [new PayloadCodec(undefined), new PayloadCodec(key())]) {
      const back = await decodeStagedBatch(codec, await encodeStagedBatch(codec, staged, 'p:0'), 'p:0');
      expect(back.payload.equals(staged.payload)).toBe(true);
      expect(back.users).toEqual(staged.users);
    }
  });

  it('reads a batch staged as one JSON object with its import file as a string', async () => {
    const codec = new PayloadCodec(key());
    const old = await codec.encode({ payload: staged.payload.toString('utf8'), users: staged.users }, 'p:0');
    const back = await decodeStagedBatch(codec, old, 'p:0');
    expect(back.payload.equals(staged.payload)).toBe(true);
    expect(back.users).toEqual(staged.users);
  });

  it('refuses an envelope cut short', async () => {
    const codec = new PayloadCodec(undefined);
    const whole = await codec.open(await encodeStagedBatch(codec, staged, 'p:0'), 'p:0');
    const cut = await codec.seal(whole.subarray(0, 10), 'p:0');
    await expect(decodeStagedBatch(codec, cut, 'p:0')).rejects.toThrow(/cut short/);
  });
});
