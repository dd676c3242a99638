import { appConfigSchema } from '@amanat/core';
import { defineEnvVars } from '@sveltejs/kit/env';

// The browser's configuration, read when the server starts, so one build runs against any deployment.
// Values are checked by core's appConfigSchema: all of them by server.ts before it loads the app (which
// names every missing variable), and each one here again. An unset value passes here only because
// `vite build` analyses the app without the deployment's environment.
const { PUBLIC_API_URL, PUBLIC_ASSIST_URL, PUBLIC_DEV_SIGN_IN } = appConfigSchema.shape;

export const variables = defineEnvVars({
  PUBLIC_API_URL: {
    public: true,
    schema: (value) => (value ? PUBLIC_API_URL.parse(value) : ''),
    description: "The API's public URL",
  },
  PUBLIC_ASSIST_URL: {
    public: true,
    schema: (value) => (value ? PUBLIC_ASSIST_URL.parse(value) : ''),
    description: "The assistant proxy's public URL; the assistant screen is hidden without it",
  },
  PUBLIC_DEV_SIGN_IN: {
    public: true,
    schema: (value) => PUBLIC_DEV_SIGN_IN.parse(value || undefined),
    description: "Offer the API's development sign-in",
  },
});
