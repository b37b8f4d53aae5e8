export { createLogger, type Logger } from './logger.ts';
export { writeAudit, redactQueryValues, AUDIT_MSG, type ExchangeRecord } from './record.ts';
