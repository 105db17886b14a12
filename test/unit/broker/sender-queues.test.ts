import { strict as assert } from 'node:assert';
import { SenderQueues } from '../../../src/broker/sender-queues';

interface Item {
  sender: string;
  n: number;
  value: Buffer;
}
const item = (sender: string, n: number, bytes = 10): Item => ({ sender, n, value: Buffer.alloc(bytes) });

describe('SenderQueues: which waiting record starts next', () => {
  it('starts a sender’s records in arrival order', () => {
    const q = new SenderQueues<Item>((i) => i.sender);
    for (let n = 0; n < 5; n++) q.push(item('H41', n));
    const order: number[] = [];
    for (let x = q.next(); x; x = q.next()) order.push(x.item.n);
    assert.deepEqual(order, [0, 1, 2, 3, 4]);
  });

  it('lets a record of another sender start before the rest of a flood that arrived earlier', () => {
    const q = new SenderQueues<Item>((i) => i.sender);
    for (let n = 0; n < 100; n++) q.push(item('X99', n));
    q.push(item('H41', 0));
    q.push(item('A01', 0));
    const first = [q.next()!, q.next()!, q.next()!].map((x) => x.sender);
    assert.deepEqual(first, ['X99', 'H41', 'A01'], 'each sender with a record waiting gets a slot before the flood gets a second');
  });

  it('gives the next slot to the sender with the fewest records in flight, and is work-conserving', () => {
    const q = new SenderQueues<Item>((i) => i.sender);
    for (let n = 0; n < 10; n++) q.push(item('X99', n));
    const started = Array.from({ length: 4 }, () => q.next()!);
    assert.ok(started.every((s) => s.sender === 'X99'), 'alone, a sender takes every slot');
    q.push(item('H41', 0));
    q.push(item('H41', 1));
    assert.equal(q.next()!.sender, 'H41');
    q.finished('X99');
    assert.equal(q.next()!.sender, 'H41', 'X99 still has 3 in flight, H41 1');
    assert.equal(q.next()!.sender, 'X99');
  });

  it('counts waiting records and bytes, and drops those of revoked partitions', () => {
    const q = new SenderQueues<Item>((i) => i.sender);
    q.push(item('X99', 0, 100));
    q.push(item('X99', 1, 100));
    q.push(item('H41', 2, 5));
    assert.equal(q.size, 3);
    assert.equal(q.bytes, 205);
    assert.equal(q.remove((i) => i.n !== 1), 2);
    assert.equal(q.size, 1);
    assert.equal(q.bytes, 100);
    assert.equal(q.next()!.item.n, 1);
    assert.equal(q.next(), undefined);
  });
});
