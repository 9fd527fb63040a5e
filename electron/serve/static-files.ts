/**
 * The built renderer's files. sirv reads a Range header naively (a reversed range makes it
 * throw, a suffix range gives the wrong bytes), so the header is settled with range-parser
 * before sirv sees it, and nothing sirv throws or its file stream emits leaves this handler.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import parseRange from 'range-parser';
import sirv from 'sirv';
import { messageForUser } from '../service/user-facing-error';
import { answerText } from './plain-answers';

export type StaticFileHandler = (request: IncomingMessage, response: ServerResponse) => void;

class UnsatisfiableRange extends Error {
  constructor(readonly size: number) {
    super(`No byte of the range lies in the ${size} bytes of the file.`);
  }
}

/** Leaves one plain `bytes=start-end` that sirv reads right, or no Range at all (a full answer). */
function settleRange(request: IncomingMessage, size: number): void {
  const header = request.headers.range;
  if (header === undefined) return;
  const ranges = parseRange(size, header, { combine: true });
  if (ranges === -1) throw new UnsatisfiableRange(size);
  const [only] = ranges === -2 ? [] : ranges;
  // A malformed header, another unit or several ranges: RFC 9110 lets a server send the whole file.
  if (ranges === -2 || ranges.type !== 'bytes' || ranges.length !== 1 || only === undefined) {
    delete request.headers.range;
    return;
  }
  request.headers.range = `bytes=${only.start}-${only.end}`;
}

export function staticFiles(rendererDir: string, log: (line: string) => void): StaticFileHandler {
  const serve = sirv(rendererDir, {
    dev: false,
    etag: true,
    single: false,
    setHeaders: (response, _pathname, stats) => settleRange(response.req, stats.size),
  });

  return (request, response) => {
    // sirv pipes a file stream into the response; a read error (the build replaced meanwhile) must end only this answer.
    response.once('pipe', (source: Readable) => {
      source.on('error', (error) => {
        log(`static ${request.url ?? '/'} failed while sending: ${messageForUser(error)}`);
        response.destroy();
      });
    });
    try {
      serve(request, response, () => answerText(response, 404, 'Not found: the studio has no such page.'));
    } catch (error) {
      if (error instanceof UnsatisfiableRange) {
        answerText(response, 416, `The requested range lies outside the file, which has ${error.size} bytes.`, { 'Content-Range': `bytes */${error.size}` });
        return;
      }
      log(`static ${request.url ?? '/'} failed: ${messageForUser(error)}`);
      answerText(response, 500, 'The studio could not send this file; the log of `npm run serve` says why.');
    }
  };
}
