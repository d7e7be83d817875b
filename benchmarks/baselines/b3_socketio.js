// B3: node socket.io 4.8 with defaults (ws, no permessage-deflate), the same room broadcast.
//
//   NODE_PATH=benchmarks/.node/node_modules node benchmarks/baselines/b3_socketio.js --port 8003
'use strict';

const http = require('http');
const { Server } = require('socket.io');

const port = Number(process.argv[process.argv.indexOf('--port') + 1]);
// The same shape and size as the user object in the collab server's messages.
const USER = {
  username: '5f3c0e7b9a2d4c6e8f1a3b5c7d9e0f12',
  name: 'Anonymous Io',
  display_name: 'Anonymous Io',
  initials: 'AI',
  avatar_url: null,
  color: '#1f77b4'
};

const httpServer = http.createServer();
const io = new Server(httpServer, { path: '/socket.io/' });
const seqs = new Map();

io.on('connection', socket => {
  socket.on('join', (data, ack) => {
    socket.join(data.room);
    if (typeof ack === 'function') ack({ ok: true, room: data.room, session: socket.id });
  });
  socket.on('send', (data, ack) => {
    const seq = (seqs.get(data.room) || 0) + 1;
    seqs.set(data.room, seq);
    io.to(data.room).emit('message', {
      room: data.room,
      seq,
      client_id: data.client_id,
      user: USER,
      text: data.text,
      ts: Date.now()
    });
    if (typeof ack === 'function') ack({ ok: true, seq });
  });
  socket.on('presence', data => {
    socket.to(data.room).emit('presence', {
      room: data.room,
      session: socket.id,
      state: data.state
    });
  });
});

httpServer.listen(port, '127.0.0.1');
