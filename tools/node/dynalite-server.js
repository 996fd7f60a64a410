// Starts dynalite (a DynamoDB implementation on an in-memory store) on a
// loopback port for Landfall's tests. Prints "listening <port>" once ready
// and exits when its standard input closes, so it never outlives the test
// process that started it.
'use strict';
const dynalite = require('dynalite');

const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.listen(0, '127.0.0.1', () => {
  process.stdout.write('listening ' + server.address().port + '\n');
});
server.on('error', (err) => {
  process.stderr.write('dynalite: ' + err.message + '\n');
  process.exit(1);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
