// File names for exports, made safe from user data (topics end up in them).

/** A file name from user data (a topic): letters, digits, dot, dash and underscore only. */
export function fileNameFor(name: string, extension: string): string {
  const safe = name
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+|_+$/g, '')
    .slice(0, 80);
  return `${safe || 'chart'}.${extension}`;
}
