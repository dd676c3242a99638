// Compiles every .sol file next to this script into artifacts/<ContractName>.json.
// The artifacts are committed so the dev stack and tests never need a compiler at runtime.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import solc from 'solc';
import { z } from 'zod';
import type { ContractArtifact } from './artifact.ts';
import { parseContractArtifact } from './artifact.ts';

// cancun is the newest fork both solc 0.8.37 and anvil 1.7 agree on without surprises, and any
// later anvil hardfork still executes cancun bytecode.
const EVM_VERSION = 'cancun';

const contractsDir = dirname(fileURLToPath(import.meta.url));
const artifactsDir = join(contractsDir, 'artifacts');

const solcOutputSchema = z.object({
  errors: z
    .array(z.object({ severity: z.string(), formattedMessage: z.string() }))
    .optional()
    .default([]),
  contracts: z
    .record(
      z.string(),
      z.record(
        z.string(),
        z.object({
          abi: z.array(z.unknown()),
          evm: z.object({ bytecode: z.object({ object: z.string() }) }),
        }),
      ),
    )
    .optional()
    .default({}),
});

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function main(): void {
  const files = readdirSync(contractsDir)
    .filter((f) => f.endsWith('.sol'))
    .sort();
  if (files.length === 0) throw new Error(`No .sol files in ${contractsDir}`);

  const sources: Record<string, { content: string }> = {};
  for (const file of files) sources[file] = { content: readFileSync(join(contractsDir, file), 'utf8') };

  const input = {
    language: 'Solidity',
    sources,
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: EVM_VERSION,
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
    },
  };
  const output = solcOutputSchema.parse(JSON.parse(solc.compile(JSON.stringify(input))));

  for (const e of output.errors) if (e.severity !== 'error') process.stderr.write(e.formattedMessage);
  const errors = output.errors.filter((e) => e.severity === 'error');
  if (errors.length > 0) {
    throw new Error(`solc failed:\n${errors.map((e) => e.formattedMessage).join('\n')}`);
  }

  const solcVersion: string = solc.version();
  const artifacts: ContractArtifact[] = [];
  for (const file of files) {
    const compiled = output.contracts[file] ?? {};
    const source = sources[file];
    if (!source) continue;
    for (const [contractName, c] of Object.entries(compiled)) {
      artifacts.push(
        // Round-trip through the schema so a malformed artifact is never written.
        parseContractArtifact(
          {
            contractName,
            abi: c.abi,
            bytecode: `0x${c.evm.bytecode.object}`,
            solcVersion,
            sourceSha256: sha256(source.content),
          },
          `${file}:${contractName}`,
        ),
      );
    }
  }

  const names = artifacts.map((a) => a.contractName);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate) throw new Error(`Two contracts are named ${duplicate}; artifact files would collide.`);

  // Start from an empty folder so artifacts of deleted contracts do not linger.
  rmSync(artifactsDir, { recursive: true, force: true });
  mkdirSync(artifactsDir, { recursive: true });
  for (const a of artifacts) {
    writeFileSync(join(artifactsDir, `${a.contractName}.json`), `${JSON.stringify(a, null, 2)}\n`);
    process.stdout.write(`wrote artifacts/${a.contractName}.json (${(a.bytecode.length - 2) / 2} bytes)\n`);
  }
}

main();
