#!/usr/bin/env node
// The example's payments MCP server over stdio, built with the official MCP SDK
// (@modelcontextprotocol/sdk). Plain JavaScript, so it runs with `node` alone.
//
// Tools:
//   lookup_order { order_id }                      → the order (read-only; no approval needed)
//   issue_refund { order_id, amount_cents, reason } → moves money; tools/payments.yaml makes
//                                                     every call of it wait for a person's approval
//
// Try it by hand: npx @modelcontextprotocol/inspector node tools/servers/payments.mjs
import process from 'node:process';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const ORDERS = {
  'A-1001': { order_id: 'A-1001', customer: 'Ada Lovelace', item: 'Analytical engine punch cards', total_cents: 4200, currency: 'EUR', status: 'delivered' },
  'A-1002': { order_id: 'A-1002', customer: 'Grace Hopper', item: 'Compiler handbook', total_cents: 2900, currency: 'EUR', status: 'shipped' },
};

/** Refunds issued by this process, by order (a real server would call the payment provider). */
const refunds = new Map();

const TOOLS = [
  {
    name: 'lookup_order',
    description: 'Looks up an order: customer, item, total and status.',
    inputSchema: { type: 'object', properties: { order_id: { type: 'string' } }, required: ['order_id'], additionalProperties: false },
  },
  {
    name: 'issue_refund',
    description: 'Refunds an amount of an order to the customer. Moves money: needs approval.',
    inputSchema: {
      type: 'object',
      properties: { order_id: { type: 'string' }, amount_cents: { type: 'integer', minimum: 1 }, reason: { type: 'string' } },
      required: ['order_id', 'amount_cents', 'reason'],
      additionalProperties: false,
    },
  },
];

const fail = (text) => ({ isError: true, content: [{ type: 'text', text }] });
const ok = (result) => ({ content: [{ type: 'text', text: JSON.stringify(result) }], structuredContent: result });

function call(name, args) {
  const order = ORDERS[String(args.order_id)];
  if (order === undefined) return fail(`no order ${JSON.stringify(args.order_id)}; known orders: ${Object.keys(ORDERS).join(', ')}`);
  if (name === 'lookup_order') return ok({ ...order, refunded_cents: refunds.get(order.order_id)?.amount_cents ?? 0 });
  if (name === 'issue_refund') {
    if (refunds.has(order.order_id)) return ok(refunds.get(order.order_id)); // idempotent per order: a replayed call refunds once
    if (!Number.isInteger(args.amount_cents) || args.amount_cents < 1 || args.amount_cents > order.total_cents) {
      return fail(`amount_cents must be between 1 and the order total ${order.total_cents}`);
    }
    const refund = { refund_id: `rf_${order.order_id}`, order_id: order.order_id, amount_cents: args.amount_cents, currency: order.currency, status: 'issued' };
    refunds.set(order.order_id, refund);
    return ok(refund);
  }
  return fail(`unknown tool ${name}`);
}

const server = new Server({ name: 'agentry-example-payments', version: '1.0.0' }, { capabilities: { tools: {} } });
server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: TOOLS }));
server.setRequestHandler(CallToolRequestSchema, (request) => call(request.params.name, request.params.arguments ?? {}));

// Exit when Agentry closes our stdin (it also stops us with SIGTERM when it shuts down).
process.stdin.on('end', () => process.exit(0));
await server.connect(new StdioServerTransport());
