"""The whole API on this machine: an embedded AWS (moto) and API Gateway's REST proxy
integration in front of the handlers that ``template.yaml`` declares.

    make run                    # python -m devkit.local; PORT=3000 MOTO_PORT=5000 by default

* Front door: waitress (``front``), a maintained HTTP/1.1 server: chunked request
  bodies, keep-alive, a listen backlog of 1024, 400 for a malformed ``Content-Length``, 408 for
  a request not whole within ``LOCAL_REQUEST_TIMEOUT`` seconds (10).  The path is decoded once.
* Workers: the functions' invocations run in ``LOCAL_WORKERS`` worker processes (2; 0: in this
  process), started with the local run, every handler imported before it serves (``workers``).
  Each keeps its caches, as a Lambda container does (``POST /_local/reset`` forgets them); their
  log lines come out on the local run's output; they stop with it.
* AWS: moto, in this process, with every table, queue, schedule group and identity the template
  declares, the status catalog, one demo client per dialect and demo tickets.  The handlers'
  clients are answered by it (``mock_aws``'s stubber; from a worker over its pipe, not HTTP);
  moto's server on ``MOTO_HOST:MOTO_PORT``
  (127.0.0.1:5000) shares the same backends, for other processes (``sam local invoke``, the AWS
  CLI).  Both go through one ``Gate``: requests one at a time, as one DynamoDB partition would
  order them (``gate``), ``ClientRequestToken``, the change count the pumps and the console wait on.
* API: ``http://127.0.0.1:$PORT``; each request goes to the function whose ``Api``
  event matches its method and path, as an API Gateway REST proxy event, run by a worker.
  Unknown routes get API Gateway's 403 ``Missing Authentication Token``; a handler
  that raises gets its 502 ``Internal server error``.
* EventBridge Scheduler: one-time ``at(...)`` schedules that come due are fired
  into their target function, then deleted when ``ActionAfterCompletion`` is DELETE.
* DynamoDB Streams: the records of a table with a stream go to the functions whose
  ``DynamoDB`` event names it, filtered and batched as the event source says
  (``streams``).  Both pumps ask the embedded AWS nothing while nothing changed.
* Lambda: ``Invoke`` of the template's functions (``lambdas``), from the handlers (in a
  worker: answered by this process; a synchronous one runs on another thread of a worker) and,
  through the embedded AWS's ``POST /2015-03-31/functions/<name>/invocations``, from other
  processes (``sam local invoke``).  ``InvocationType=Event`` answers 202 and runs the
  invocation on a thread: failures are retried as the function's ``EventInvokeConfig`` says
  (0.2 s, then 0.4 s apart) and then go to its ``OnFailure`` queue.
* Dev endpoints (answered to loopback peers only, even with ``HOST=0.0.0.0``): the console
  ``GET /_local/`` (``console``), ``GET /_local/credentials``, ``GET /_local/outbox``,
  ``POST /_local/reset``, ``GET /_local/health`` (and the embedded AWS's URL),
  ``GET /_local/schedules`` (pending schedules), ``POST /_local/schedules/fire[?now=<ISO 8601>]``
  (fire what is due, by ``now`` if given: a reminder due in two days fires now; ``?group=&name=``:
  that one schedule, due or not), ``GET /_local/invocations`` (Lambda invocations: function, at,
  type, outcome, attempts).

The modules, one job each:

* ``run``: the local run itself (``LocalRun``: start, the dev endpoints, reset, stop), ``spawned``
  (in a subprocess, for tests and benchmarks) and ``main``;
* ``front``: the HTTP/1.1 front door (waitress);
* ``apigateway``: API Gateway's REST proxy integration (events, routing, ``LocalApi``);
* ``runtime``: Lambda's Python runtime in process (handler import, context, one invocation with
  log keys of its own), or an invocation handed to the workers;
* ``workers``: the worker processes, their pipes to this process's moto and ``lambdas``;
* ``lambdas``: Lambda's ``Invoke`` API (synchronous and asynchronous, retries, destinations);
* ``streams``, ``scheduler``: the DynamoDB Streams event sources and EventBridge Scheduler;
* ``embedded_aws``: moto's server and in-process mock, and the outbox read from its backends;
* ``gate``: one AWS request at a time, ``ClientRequestToken``, the change count;
* ``moto_patches``: moto answering as it does with less work (item-level transaction rollback,
  JSON answers written as they stand), each checked against the moto it was written for;
* ``provision``: the template's resources created on moto, the functions' environment;
* ``console`` (+ ``console_page/``): the console at ``GET /_local/``;
* ``faults``: AWS errors injected below botocore's retries (tests).
"""
