// Embedding cfimap in Node: open a session over STARTTLS with a private CA,
// list the folders, read the INBOX a batch at a time, and save the
// attachments of its messages into a directory the host allows.
//
//   CFIMAP_SERVER=imap.example.com CFIMAP_PORT=143 CFIMAP_USERNAME=alice \
//   CFIMAP_PASSWORD=… CFIMAP_CAFILE=/etc/ssl/private-ca.pem \
//   CFIMAP_ATTACHMENTS=./attachments node host/node/examples/embed.mjs
//
// README.md shows this file; a test keeps the two the same.

import { FolderNotFoundError, open } from '../lib/index.js';

const need = (name) => process.env[name] ?? (console.error(`set ${name}`), process.exit(2));

// The session may reach this one server on this port, and write
// attachment files below this one directory.
const session = await open({
  server: need('CFIMAP_SERVER'),
  port: Number(need('CFIMAP_PORT')),
  username: need('CFIMAP_USERNAME'),
  password: need('CFIMAP_PASSWORD'),
  secure: 'starttls',
  cafile: process.env.CFIMAP_CAFILE,
  timeout: 30,
  attachments: { within: [need('CFIMAP_ATTACHMENTS')] },
});

try {
  for (const folder of await session.listAllFolders({ recurse: true })) {
    console.log(`${folder.fullname.padEnd(24)} ${folder.totalmessages ?? '-'} messages`);
  }

  // getAll a batch at a time: memory stays flat however big the folder.
  for await (const row of session.rows('getAll', {
    folder: 'INBOX',
    attachmentpath: need('CFIMAP_ATTACHMENTS'),
  })) {
    console.log(`${row.uid}\t${row.subject ?? '(no subject)'}\t${row.attachmentfiles.join(', ')}`);
  }

  await session.getHeaderOnly({ folder: 'No such folder' }).catch((e) => {
    if (!(e instanceof FolderNotFoundError)) throw e;
    console.log(`as expected: ${e.message}`);
  });
} finally {
  await session.close();
}
