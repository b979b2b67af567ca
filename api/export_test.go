package api

// Routes are the (method, pattern) pairs the handler registers.
func Routes() [][2]string {
	out := make([][2]string, len(routes))
	for i, r := range routes {
		out[i] = [2]string{r.method, r.pattern}
	}
	return out
}

// RouteScopes are the token scopes of the routes, by "METHOD pattern".
func RouteScopes() map[string]string {
	out := map[string]string{}
	for _, r := range routes {
		out[r.method+" "+r.pattern] = r.scope
	}
	return out
}

// OpenAPISpec is the embedded description.
var OpenAPISpec = openAPISpec
