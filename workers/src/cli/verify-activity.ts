// `npm run verify:activity -- <dealId>`: checks a deal's activity log against its hash chain and the
// latest signed checkpoint, and says plainly whether it was tampered with.
import { isDomainError, parseSigningKey, parseVerifyKey, publicKeyText } from '@amanat/core';
import { createPool, readCheckpoints, verifyDealActivity } from '@amanat/platform';
import { z } from 'zod';

const env = z
  .object({
    DATABASE_URL: z.string().min(1, 'DATABASE_URL is required'),
    CHECKPOINT_FILE: z.string().default('.data/checkpoints.jsonl'),
    CHECKPOINT_VERIFY_KEY: z.string().optional(),
    CHECKPOINT_SIGNING_KEY: z.string().optional(),
  })
  .safeParse(process.env);
const dealId = process.argv[2];
if (!env.success || !dealId || !z.uuid().safeParse(dealId).success) {
  console.error(
    'usage: npm run verify:activity -- <deal uuid>\n' +
      'needs DATABASE_URL, CHECKPOINT_FILE, and CHECKPOINT_VERIFY_KEY (public key) or CHECKPOINT_SIGNING_KEY',
  );
  process.exit(2);
}
const cfg = env.data;
try {
  const keyText =
    cfg.CHECKPOINT_VERIFY_KEY ??
    (cfg.CHECKPOINT_SIGNING_KEY && publicKeyText(parseSigningKey(cfg.CHECKPOINT_SIGNING_KEY)));
  if (!keyText) throw new Error('set CHECKPOINT_VERIFY_KEY (the checkpoint public key) to verify signatures');
  const pool = createPool({ connectionString: cfg.DATABASE_URL });
  const result = await verifyDealActivity({
    db: pool,
    dealId,
    checkpoints: await readCheckpoints(cfg.CHECKPOINT_FILE),
    verifyKey: parseVerifyKey(keyText),
  });
  await pool.end();
  console.log(`hash chain: ${result.chain.ok ? `intact (${result.chain.count} entries)` : 'BROKEN'}`);
  if (!result.chain.ok)
    for (const p of result.chain.problems) console.log(`  seq ${p.seq}: ${p.kind}: ${p.detail}`);
  console.log(
    result.checkpoint
      ? `checkpoint ${result.checkpoint.at}: ${result.checkpoint.ok ? 'matches' : `DOES NOT MATCH (${result.checkpoint.reason})`}`
      : 'checkpoint: none written yet',
  );
  process.exit(result.ok ? 0 : 1);
} catch (err) {
  console.error(isDomainError(err) || err instanceof Error ? err.message : String(err));
  process.exit(2);
}
