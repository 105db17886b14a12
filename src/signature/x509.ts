// @peculiar/x509 wires its algorithm providers through tsyringe, which needs the Reflect metadata
// API before the library loads; importing it through this module guarantees the order.
import 'reflect-metadata';
export * from '@peculiar/x509';
