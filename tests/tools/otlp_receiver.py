#!/usr/bin/env python3
"""A real OTLP trace receiver for tests: decodes ExportTraceServiceRequest with the official
opentelemetry-proto package, over http/protobuf (POST /v1/traces) and gRPC (TraceService/Export).

Prints `READY http=<port> grpc=<port>` once listening, then one JSON line per received span:
{"transport", "service", "trace_id", "span_id", "parent_span_id", "name", "kind", "status",
 "attributes"}. With --fail-status N the HTTP endpoint answers N to every export (to test that
export failures never affect requests).
"""
import argparse
import json
import sys
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

LOCK = threading.Lock()


def value_of(any_value):
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


def emit(request, transport):
    with LOCK:
        for resource_spans in request.resource_spans:
            resource = {a.key: value_of(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    line = {
                        "transport": transport,
                        "service": resource.get("service.name"),
                        "resource": resource,
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_span_id": span.parent_span_id.hex(),
                        "name": span.name,
                        "kind": span.kind,
                        "status": span.status.code,
                        "attributes": {a.key: value_of(a.value) for a in span.attributes},
                    }
                    sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()


class TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    def Export(self, request, context):
        emit(request, "grpc")
        return trace_service_pb2.ExportTraceServiceResponse()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--fail-status", type=int, default=0)
    args = parser.parse_args()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            if args.fail_status:
                self.send_response(args.fail_status)
                self.end_headers()
                return
            if self.path != "/v1/traces":
                self.send_response(404)
                self.end_headers()
                return
            request = trace_service_pb2.ExportTraceServiceRequest()
            request.ParseFromString(body)
            emit(request, "http")
            payload = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_):
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(TraceService(), server)
    grpc_port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    sys.stdout.write(f"READY http={http.server_address[1]} grpc={grpc_port}\n")
    sys.stdout.flush()
    server.wait_for_termination()


if __name__ == "__main__":
    main()
