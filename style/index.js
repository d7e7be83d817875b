import './base.css';
import './network.css';
