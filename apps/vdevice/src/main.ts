// Entry point of the virtual device; the CLI lands here.
console.log("vdevice: not yet implemented");
