/**
 * The peer: a plain tus server (`@tus/server` + `@tus/file-store`) in its own process, as a user
 * would deploy it. Prints "TUS listening on 127.0.0.1:PORT". Upload dir: argv[2].
 */
import { FileStore } from '@tus/file-store';
import { Server } from '@tus/server';
import { createServer } from 'node:http';

const tus = new Server({ path: '/files', datastore: new FileStore({ directory: process.argv[2] }) });
const http = createServer((req, res) => void tus.handle(req, res));
http.listen(0, '127.0.0.1', () => {
  const address = http.address();
  if (address && typeof address === 'object') console.log(`TUS listening on 127.0.0.1:${address.port}`);
});
process.once('SIGTERM', () => process.exit(0));
