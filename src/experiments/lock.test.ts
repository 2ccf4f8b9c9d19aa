import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkspaceBusyError, acquireLock, tryLock } from './lock';

const DEAD_PID = 2 ** 22 + 12345; // no such process

test('the lock names its owner; a live owner in another process keeps it; its death makes it stale', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lock-'));
  const file = join(dir, '.bert-lab', 'lock');
  // Another live process holds the lock (written the way lock.ts writes it).
  const holder = spawn(process.execPath, ['-e', `require('fs').mkdirSync(${JSON.stringify(join(dir, '.bert-lab'))}, { recursive: true });
    require('fs').writeFileSync(${JSON.stringify(file)}, JSON.stringify({ pid: process.pid, host: require('os').hostname(), since: 'now', what: 'run problem1' }));
    console.log('held'); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((r) => holder.stdout.once('data', r));
  const r = tryLock(file, 'test');
  assert.ok('owner' in r && r.owner.pid === holder.pid && r.owner.what === 'run problem1');
  await assert.rejects(acquireLock(file, 'test'), (e: Error) => e instanceof WorkspaceBusyError && e.message.includes(`pid ${holder.pid}`) && e.message.includes(file));
  // Waiting: told once, then it gets the lock when the holder is killed (stale).
  const told: number[] = [];
  const p = acquireLock(file, 'test', { wait: true, pollMs: 20, onWait: (o) => told.push(o.pid) });
  setTimeout(() => holder.kill('SIGKILL'), 150);
  const lock = await p;
  assert.ok(lock);
  assert.deepEqual(told, [holder.pid]);
  assert.equal(JSON.parse(readFileSync(file, 'utf8')).pid, process.pid);
  lock.release();
  assert.equal(existsSync(file), false);
  assert.deepEqual(readdirSync(join(dir, '.bert-lab')), [], 'no temp or break file left');
});

test('a stale lock (dead pid) is taken over; an unreadable one only once it is old; a lock of another host never', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lock-'));
  const file = join(dir, 'lock');
  writeFileSync(file, JSON.stringify({ pid: DEAD_PID, host: hostname(), since: 'x', what: 'y' }));
  const a = tryLock(file, 'test');
  assert.ok('release' in a);
  a.release();
  writeFileSync(file, '{"pid": 1');
  assert.ok('owner' in tryLock(file, 'test'), 'a fresh unreadable lock may be mid-write');
  utimesSync(file, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
  const b = tryLock(file, 'test');
  assert.ok('release' in b);
  b.release();
  writeFileSync(file, JSON.stringify({ pid: DEAD_PID, host: 'another-host', since: 'x', what: 'y' }));
  assert.ok('owner' in tryLock(file, 'test'));
  // A leftover break lock of a dead process does not block the takeover.
  writeFileSync(file, JSON.stringify({ pid: DEAD_PID, host: hostname(), since: 'x', what: 'y' }));
  writeFileSync(`${file}.break`, JSON.stringify({ pid: DEAD_PID, host: hostname(), since: 'x', what: 'y' }));
  const c = tryLock(file, 'test');
  assert.ok('release' in c);
  c.release();
  assert.deepEqual(readdirSync(dir), []);
});

test('release removes only its own lock', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lock-'));
  const file = join(dir, 'lock');
  const a = tryLock(file, 'test');
  assert.ok('release' in a);
  writeFileSync(file, JSON.stringify({ pid: 1, host: hostname(), since: 'x', what: 'someone else' }));
  a.release();
  assert.ok(existsSync(file));
});
