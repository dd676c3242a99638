import { z } from 'zod';

/** Written by `npm start` under DATA_DIR: where this run's database and chain are (they are on free ports). */
export const RUNNING_FILE = 'running.json';

export const runningSchema = z.object({
  databaseUrl: z.string().min(1),
  databaseSchema: z.string().min(1),
  rpcUrls: z.record(z.string(), z.array(z.string())),
  apiUrl: z.string().min(1),
});
export type RunningStack = z.infer<typeof runningSchema>;
