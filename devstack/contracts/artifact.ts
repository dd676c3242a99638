import type { Abi, Hex } from 'viem';
import { z } from 'zod';

const hexBytes = /^0x(?:[0-9a-f]{2})+$/;

/** Shape of devstack/contracts/artifacts/<ContractName>.json, shared by the builder and the readers. */
export const contractArtifactSchema = z.object({
  contractName: z.string().min(1),
  // solc already validated the ABI; checking it is an array of entries is enough to catch a wrong file.
  abi: z.custom<Abi>((v) => Array.isArray(v) && v.every((e) => typeof e === 'object' && e !== null)),
  bytecode: z.custom<Hex>((v) => typeof v === 'string' && hexBytes.test(v), 'expected 0x-prefixed bytecode'),
  solcVersion: z.string().min(1),
  sourceSha256: z.string().regex(/^[0-9a-f]{64}$/),
});

export type ContractArtifact = z.infer<typeof contractArtifactSchema>;

export function parseContractArtifact(json: unknown, label: string): ContractArtifact {
  const result = contractArtifactSchema.safeParse(json);
  if (!result.success) {
    throw new Error(
      `Invalid contract artifact ${label}: ${z.prettifyError(result.error)}. ` +
        'Regenerate with `npm run contracts:build`.',
    );
  }
  return result.data;
}
