// Interface placeholder: the offline module replaces this file.
export async function startOffline(): Promise<void> {}
