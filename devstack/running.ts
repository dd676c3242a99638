import { z } from 'zod';

/** Written by `npm start` under DATA_DIR: where this run's database and chain are (they are on free ports). */
export const RUNNING_FILE = 'running.json';

export const runningSchema = z.object({
  databaseUrl: z.string().min(1),
  databaseSchema: z.string().min(1),
  rpcUrls: z.record(z.string(), z.array(z.string())),
  apiUrl: z.string().min(1),
  /** The assistant proxy, when assist runs. */
  assistUrl: z.string().min(1).optional(),
  /** The app's origin (APP_ORIGIN): the one origin the API's CORS and WebSocket accept. */
  appOrigin: z.string().min(1).optional(),
});
export type RunningStack = z.infer<typeof runningSchema>;
