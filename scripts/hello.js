// Example script job: prints one line and exits 0 (see README: "Example: Script Job").
console.log("Hello from DTS worker at", new Date().toISOString());
process.exit(0);
