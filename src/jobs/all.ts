// Every module that declares jobs (defineJob), imported by startJobs() so that each working process
// (npm start with JOBS_IN_PROCESS, npm run worker) knows every queue. One line per module.
import "../mail/index.ts";
import "./purges.ts";
import "../cache/scheduled.ts";
import "../posts/hooks.ts";
import "../blog/rerender.ts";
